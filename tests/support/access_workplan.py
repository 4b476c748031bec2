"""Access rules of the workplan routes, merged into ``tests/test_access_matrix.ACCESS``.

Every active member reads the workplan; curators create, edit and record its adoption; the
sample item's cluster coordinators (and curators) edit its status and progress.
"""

WORKPLAN_ACCESS: dict[str, str] = {
    "workplan.index": "signed_in",
    "workplan.year": "signed_in",
    "workplan.timeline_view": "signed_in",
    "workplan.print_view": "signed_in",
    "workplan.export_csv": "signed_in",
    "workplan.export_xlsx": "signed_in",
    "workplan.item": "signed_in",
    "workplan.new_item": "curator",
    "workplan.adopt": "curator",
    "workplan.edit_item": "workplan_updater",
    "api.workplan": "token",
    "api.workplan_item": "token",
    "api.create_workplan_item": "token_curator",
    "api.update_workplan_item": "token_workplan_updater",
}
