"""The explorer page: a self-contained HTML file to click through failover (`hasm explorer`)."""
