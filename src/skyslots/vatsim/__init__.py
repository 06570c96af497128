"""VATSIM Connect: the OAuth 2.0 client (authorization code + PKCE) and the member's profile."""
