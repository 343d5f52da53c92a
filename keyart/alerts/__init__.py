"""Notifications: alert rules evaluated once per published data version, alerts deduplicated
per (rule, asset, finding), delivered by signed webhooks (an outbox in the state store) and
GraphQL subscriptions. docs/notifications.md describes the behaviour."""
