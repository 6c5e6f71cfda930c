"""Accounts: partner organisations (the registry DCCE keeps), their users, invitations, access rules."""
