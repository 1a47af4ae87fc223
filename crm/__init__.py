"""The ChatCRM domain: models, services, analytics and storage. Knows nothing of Telegram."""
