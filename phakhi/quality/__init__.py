"""The audit step of write-audit-publish: great-expectations suites (expectations/*.json) on the build warehouse."""
