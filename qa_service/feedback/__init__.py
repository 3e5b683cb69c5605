"""What users say of answers (👍 / 👎 and the right span), stored beside the corpus and
exported as test questions. A bottom layer: it imports nothing else of qa_service."""

from .store import (
    RATINGS,
    Feedback,
    FeedbackError,
    FeedbackStore,
    Selection,
    default_feedback_db,
    export_test_questions,
)

__all__ = ["RATINGS", "Feedback", "FeedbackError", "FeedbackStore", "Selection", "default_feedback_db",
           "export_test_questions"]
