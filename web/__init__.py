"""The portal: the web face of the system beside the CLI, on the same services (README, "The portal")."""
