"""Access rules of the STIX and TAXII routes, merged into ``tests/test_access_matrix.ACCESS``.

TAXII authenticates personal access tokens like /api/v1: every active account's read token is
answered (what a collection holds is ``visible_posts``' business: tests/test_visibility_matrix.py
asks it of every marking, flag and relation). The sample post is a GREEN best practice in the
policy cluster, so its report is in the policy collection and its STIX download answers everyone.
"""

TAXII_ACCESS: dict[str, str] = {
    "taxii.discovery": "token",
    "taxii.api_root": "token",
    "taxii.collections": "token",
    "taxii.collection": "token",
    "taxii.objects": "token",
    "taxii.manifest": "token",
    "taxii.get_object": "token",
    "taxii.versions": "token",
    "taxii.unknown": "not_found",
    "stix.post_bundle": "signed_in",
    "stix.cluster_bundle": "signed_in",
}
