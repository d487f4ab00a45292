"""Labelled intent examples for the demo (admins edit them in the admin)."""

from agents.models import IntentExample

DEMO_INTENTS = {
    "faq": [
        "How long does shipping take?",
        "Do you ship to Switzerland?",
        "What is your return policy?",
        "Which payment methods do you accept?",
        "How much does delivery cost?",
        "Is there a warranty on your products?",
        "What are your opening hours?",
        "Can I pay with PayPal?",
        "Do you sell gift cards?",
        "How do returns work?",
        "Do you offer free shipping?",
        "How long is the warranty?",
        "Do you deliver to the UK?",
        "Do I have to pay customs or import duties?",
        "How many days do I have to return an item?",
        "What is your phone number?",
        "How can I contact customer service?",
    ],
    "order_status": [
        "Where is my order?",
        "Where is my order 100234?",
        "My parcel has not arrived yet",
        "Has my order shipped?",
        "Can you track my package?",
        "When will my order be delivered?",
        "What is the status of order 100871?",
        "I am still waiting for my delivery",
        "The tracking number does not work",
        "My package is late",
        "Did you send my order already?",
        "Order 100455 still says processing",
    ],
    "refund": [
        "I want a refund",
        "Please refund order 100234",
        "I want my money back",
        "Can I get a refund for the broken item?",
        "When will I get my refund?",
        "The item arrived damaged, I want a refund",
        "Refund me please, the shirt does not fit",
        "I returned the parcel, where is my money?",
        "How do I get reimbursed?",
        "I was charged twice, please refund one payment",
        "Cancel and refund my order",
        "I'd like to return this and get my money back",
    ],
    "account": [
        "I forgot my password",
        "How do I reset my password?",
        "I cannot log in to my account",
        "Change the email address on my account",
        "Delete my account please",
        "My account is locked",
        "How do I update my profile?",
        "I did not receive the password reset email",
        "Change my shipping address in my account",
        "How do I create an account?",
        "Unsubscribe me from the newsletter",
        "Two-factor login code does not arrive",
    ],
    "complaint": [
        "This is unacceptable, worst service ever",
        "I am very disappointed with your shop",
        "Your delivery driver was rude",
        "The quality of this product is terrible",
        "I have been waiting for weeks and nobody answers",
        "I want to file a complaint",
        "You sent me the wrong item again",
        "I am angry about how I was treated",
        "This is the third time my order is wrong",
        "Your customer service is useless",
        "The product broke after one day, this is a scam",
        "I will never order from you again",
    ],
    "human_request": [
        "I want to talk to a human",
        "Let me speak to a real person",
        "Can I talk to an agent?",
        "Connect me with customer service staff",
        "I don't want to chat with a bot",
        "Transfer me to a human please",
        "Is there a real person I can speak to?",
        "Put me through to support staff",
        "I need a human agent now",
        "Stop the bot, get me a person",
        "Speak to someone from your team",
        "Human please",
    ],
    "smalltalk": [
        "Hello",
        "Hi there",
        "Thanks a lot!",
        "Good morning",
        "How are you?",
        "Thank you, bye",
        "Have a nice day",
        "Great, thanks",
        "Hey",
        "Cool, thank you very much",
        "Goodbye",
        "Nice talking to you",
    ],
}


def intent_examples_ensure() -> int:
    """Create the demo examples that are missing; returns how many were created."""
    existing = set(IntentExample.objects.values_list("intent", "text"))
    missing = [
        IntentExample(intent=intent, text=text)
        for intent, texts in DEMO_INTENTS.items()
        for text in texts
        if (intent, text) not in existing
    ]
    IntentExample.objects.bulk_create(missing)
    return len(missing)
