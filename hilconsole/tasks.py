from celery import shared_task


@shared_task(name="hilconsole.noop")
def noop(value=None):
    """Does nothing but answer: the floor of a broker → worker → result round trip."""
    return value
