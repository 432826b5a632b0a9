"""manbing: regional chronic-disease management platform."""
