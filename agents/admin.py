# The agents app's admin pages, one module per area.
from agents import (
    admin_budgets,  # noqa: F401, E402
    admin_knowledge,  # noqa: F401, E402
    admin_llm,  # noqa: F401, E402
    admin_pipelines,  # noqa: F401, E402
    admin_tools,  # noqa: F401, E402
    admin_workflows,  # noqa: F401, E402
)
