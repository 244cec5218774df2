"""Fulfilment automations: the registry of actions that plans' automated steps run."""
