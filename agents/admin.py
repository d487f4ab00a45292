# The agents app's admin pages, one module per area.
