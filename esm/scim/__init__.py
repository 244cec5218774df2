"""SCIM 2.0 (RFC 7643, RFC 7644): the identity provider's way to keep people and groups.

Users and Groups on the models of `esm.models`; every write goes through
`esm.provisioning`. Filters are parsed by scim2-filter-parser.
"""
