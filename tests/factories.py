from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from annotations import tallies
from annotations.models import (
    Article,
    Assignment,
    Quote,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    StanceLabel,
    Target,
)

ARTICLE_TEXT = (
    "“We will not allow Iran to acquire a nuclear weapon,” the minister said on Monday.\n\n"
    "The spokesman added that talks were “at a dead end.”"
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct-horse-battery-staple")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs) -> None:
        if create and extracted:
            # get_or_create: live-server tests flush the tables the data migration filled.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Article {n}")
    outlet = "Example Times"
    published_on = datetime.date(2023, 1, 5)
    language = "en"
    text = factory.Sequence(lambda n: f"{ARTICLE_TEXT}\n\n(Story {n}.)")


class SpeakerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Speaker

    name = factory.Sequence(lambda n: f"Speaker {n}")
    kind = Speaker.Kind.PERSON
    country = "US"


class SpeakerAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpeakerAlias

    speaker = factory.SubFactory(SpeakerFactory)
    name = factory.Sequence(lambda n: f"Alias {n}")


class SpeakerRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpeakerRole

    speaker = factory.SubFactory(SpeakerFactory)
    title = "Spokesperson"
    organisation = "Ministry of Foreign Affairs"
    country = "US"
    start_date = datetime.date(2021, 1, 20)


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Target

    name = factory.Sequence(lambda n: f"Target proposition {n}")
    slug = factory.Sequence(lambda n: f"target-{n}")


class StanceLabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StanceLabel
        django_get_or_create = ["slug"]

    slug = "support"
    name = factory.LazyAttribute(lambda label: label.slug.capitalize())
    colour = "#2e7d32"


class QuoteFactory(factory.django.DjangoModelFactory):
    """A quote on the first sentence's quoted words unless offsets are given."""

    class Meta:
        model = Quote

    article = factory.SubFactory(ArticleFactory)
    start = 1
    end = 51
    text = factory.LazyAttribute(lambda quote: quote.article.text[quote.start : quote.end])
    kind = Quote.Kind.DIRECT
    speaker = factory.SubFactory(SpeakerFactory)
    annotator = factory.SubFactory(UserFactory, role="analyst")


class StanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stance

    quote = factory.SubFactory(QuoteFactory)
    target = factory.SubFactory(TargetFactory)
    label = factory.SubFactory(StanceLabelFactory)
    intensity = 2


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    article = factory.SubFactory(ArticleFactory)
    annotator = factory.SubFactory(UserFactory, role="analyst")


# Speakers of the stance history below: (name, country); the last has no country.
HISTORY_SPEAKERS = [
    ("Avi Dror", "IL"),
    ("Noa Levin", "IL"),
    ("Ned Carter", "US"),
    ("Jane Moss", "US"),
    ("Reza Amini", "IR"),
    ("Claire Dubois", "FR"),
    ("Ivan Petrov", "RU"),
    ("A spokesperson", ""),
]


def curated_stance_history(*, topic: Target, child: Target, other: Target, months: int = 18) -> list[Quote]:
    """Curated quotes over ``months`` months from January 2022, by speakers of five countries and one
    of none, each with a stance toward ``topic`` or ``child`` (its subtopic), every fifth also toward
    ``other``; labels cycle so that the counts differ by country and by month. Deterministic."""
    labels = [
        StanceLabelFactory(slug=slug, name=slug.capitalize(), colour=colour, order=order)
        for order, (slug, colour) in enumerate(
            [("support", "#2e7d32"), ("oppose", "#c62828"), ("neutral", "#546e7a"), ("unclear", "#8e6c00")], 1
        )
    ]
    speakers = [SpeakerFactory(name=name, country=country) for name, country in HISTORY_SPEAKERS]
    quotes = []
    for index in range(months * 3):
        month = index % months
        article = ArticleFactory(
            status=Article.Status.CURATED,
            published_on=datetime.date(2022 + month // 12, month % 12 + 1, 1 + index % 27),
            outlet=["Example Times", "The Daily Wire Service"][index % 2],
        )
        speaker = speakers[(index * 3) % len(speakers)]
        quote = QuoteFactory(article=article, speaker=speaker, is_curated=True, annotator=None)
        label = labels[(index // 2 + speakers.index(speaker) % 3) % 4] if index % 7 else labels[1]
        StanceFactory(quote=quote, target=child if index % 2 else topic, label=label)
        if index % 5 == 0:
            StanceFactory(quote=quote, target=other, label=labels[(index // 5) % 2])
        quotes.append(quote)
    # Written by the factories, around the models' write paths (as COPY writes the
    # bench's rows): the statistics' tally is counted once they are all in.
    tallies.rebuild()
    return quotes
