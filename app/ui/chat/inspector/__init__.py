"""The reply inspector: a reply's token probabilities as a heat-map, and its JSON as a tree."""
