"""Member organisations of the Alliance: who they are, their type and e-mail domains."""
