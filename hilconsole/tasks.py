from celery import shared_task


@shared_task(name="hilconsole.noop")
def noop(value=None):
    """Does nothing but answer: the floor of a broker → worker → result round trip."""
    return value


@shared_task(name="hilconsole.rollups_refresh")
def rollups_refresh():
    from hilconsole.rollups import rollups_refresh

    refreshed = rollups_refresh()
    return {"days": [str(day) for day in refreshed.days], "rows": refreshed.rows}


@shared_task(name="hilconsole.retention_sweep")
def retention_sweep():
    from hilconsole.retention import retention_sweep

    return retention_sweep()
