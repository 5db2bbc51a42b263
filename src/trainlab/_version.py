"""The version, in a leaf module every other module may import (the package root imports the API lazily)."""

__version__ = "0.1.0"
