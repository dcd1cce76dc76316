//! Resource-server verification of DPoP-bound access tokens (RFC 9449 section 7, RFC 6750).
