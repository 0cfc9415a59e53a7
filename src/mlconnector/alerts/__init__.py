"""Telling people: email and webhooks (generic JSON, Slack) about new exceptions and unreachable systems.

A pull-based pass over the store, run as an engine job: no flow calls it, and a pass that fails is simply run again.
"""

from mlconnector.alerts.channels import Alert, Channel, DeliveryError, EmailChannel, WebhookChannel
from mlconnector.alerts.scan import Alerter

__all__ = ["Alert", "Alerter", "Channel", "DeliveryError", "EmailChannel", "WebhookChannel"]
