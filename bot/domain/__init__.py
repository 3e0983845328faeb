"""The appeal domain: states, transitions, identifiers and the working-day calendar."""
