# -*- coding: utf-8 -*-
"""Real servers started on loopback for the integration tests and the benchmarks."""
