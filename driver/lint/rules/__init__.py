"""IR lint rules, one module per family; importing this package registers them all."""

from driver.lint.rules import caching, dataflow, images, loops, names, resources, secrets, target

__all__ = ["caching", "dataflow", "images", "loops", "names", "resources", "secrets", "target"]
