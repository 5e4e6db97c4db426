"""Kernel services: the functions that write (organizations, memberships, invitations)."""
