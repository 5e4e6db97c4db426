"""The integrators' face of the kernel: API-key authentication, base views, the v1 root."""
