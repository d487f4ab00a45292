from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        # The pipeline engine (agents) sits below this app: it opens and cancels review tasks
        # through what is registered here, never by importing it.
        from agents.pipelines import engine
        from reviews import access
        from reviews.review_tasks import RunReviews

        engine.register_reviews(RunReviews())
        access.connect()
