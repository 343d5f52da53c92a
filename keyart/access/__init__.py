"""Who may call the API and how often: API key checks, rate limits, persisted queries."""
