"""Print the settings reference (``python -m forno.docs > docs/settings.md``)."""

from forno.config import settings_reference

if __name__ == "__main__":
    print(settings_reference(), end="")
