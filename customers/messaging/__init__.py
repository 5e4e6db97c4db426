"""Customer communication: channels (email now), message log, preferences and consent,
template overrides and announcements."""
