"""Flows: record-triggered automation, stage machines, approvals, scheduled flows."""
