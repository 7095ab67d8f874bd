"""The demo plant: its data, the simulated check-ins and the synthetic room photos."""
