"""DCCE's console: who has and has not submitted this month, the quarantine backlog, replies, approval."""
