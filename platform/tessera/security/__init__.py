"""Security: identity (users, orgs, tokens, sessions) and permissions (roles, field and record
access), all enforced where records are read and written."""
