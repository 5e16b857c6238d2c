"""Delivery: the lifecycle state machine, the outbox and its worker, the inbox, incoming
status messages, routing rules, and the operator actions as service functions."""
