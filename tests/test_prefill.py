"""The new quote's pre-fill: cheap heuristics that find a registered speaker by
surname, by first and last name or by a role they held that day; a cue only
where a verb is; quotation marks, not apostrophes. The analyst checks them all."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from annotations.models import Quote, Speaker
from annotations.suggestions import suggest, suggest_kind, suggest_target

from .factories import ArticleFactory, AssignmentFactory, SpeakerFactory, SpeakerRoleFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def article_with(text: str, published_on: datetime.date | None = datetime.date(2023, 1, 5)):
    return ArticleFactory(text=text, published_on=published_on)


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def mention(article, suggestion) -> str:
    return article.text[suggestion.mention_start : suggestion.mention_end]


# --- Speakers by surname, first and last name, role ------------------------------------------


def test_a_registered_speaker_is_found_by_surname():
    blinken = SpeakerFactory(name="Antony J. Blinken", kind=Speaker.Kind.PERSON)
    article = article_with("Blinken told reporters that talks would go on.")
    suggestion = suggest(article, *span(article.text, "talks would go on"))
    assert suggestion.speaker == blinken
    assert mention(article, suggestion) == "Blinken"
    assert suggestion.cue == "told"


def test_a_registered_speaker_is_found_by_first_and_last_name():
    blinken = SpeakerFactory(name="Antony J. Blinken", kind=Speaker.Kind.PERSON)
    article = article_with("Antony Blinken said the talks would go on.")
    suggestion = suggest(article, *span(article.text, "the talks would go on"))
    assert suggestion.speaker == blinken
    assert mention(article, suggestion) == "Antony Blinken"


def test_a_surname_two_speakers_share_names_neither():
    SpeakerFactory(name="Eli Cohen", kind=Speaker.Kind.PERSON)
    SpeakerFactory(name="Ben Cohen", kind=Speaker.Kind.PERSON)
    article = article_with("Cohen said the talks would go on.")
    assert suggest(article, *span(article.text, "the talks would go on")).speaker is None


def test_an_organisations_last_word_is_no_surname():
    SpeakerFactory(name="United States Government", kind=Speaker.Kind.GOVERNMENT)
    article = article_with("The Government said the talks would go on.")
    assert suggest(article, *span(article.text, "the talks would go on")).speaker is None


def test_a_surname_inside_another_word_is_no_mention():
    SpeakerFactory(name="Ned Price", kind=Speaker.Kind.PERSON)
    article = article_with("Prices rose, the minister said, and would rise again.")
    assert suggest(article, *span(article.text, "would rise again")).speaker is None


def test_a_speaker_is_found_by_the_role_they_held_on_the_articles_date():
    gallant = SpeakerFactory(name="Yoav Gallant", kind=Speaker.Kind.PERSON)
    SpeakerRoleFactory(
        speaker=gallant,
        title="Minister of Defense",
        organisation="Government of Israel",
        start_date=datetime.date(2022, 12, 29),
        end_date=None,
    )
    article = article_with("The Israeli defence minister said Iran would not get the bomb.")
    suggestion = suggest(article, *span(article.text, "Iran would not get the bomb"))
    assert suggestion.speaker == gallant
    assert mention(article, suggestion) == "Israeli defence minister"


def test_a_role_not_held_on_the_articles_date_names_nobody():
    gallant = SpeakerFactory(name="Yoav Gallant", kind=Speaker.Kind.PERSON)
    SpeakerRoleFactory(
        speaker=gallant, title="Minister of Defense", organisation="Government of Israel",
        start_date=datetime.date(2022, 12, 29), end_date=None,
    )  # fmt: skip
    article = article_with("The Israeli defence minister said Iran would not get the bomb.", datetime.date(2020, 1, 1))
    assert suggest(article, *span(article.text, "Iran would not get the bomb")).speaker is None


def test_another_countrys_minister_is_not_the_speaker():
    gallant = SpeakerFactory(name="Yoav Gallant", kind=Speaker.Kind.PERSON)
    SpeakerRoleFactory(
        speaker=gallant, title="Minister of Defense", organisation="Government of Israel",
        start_date=datetime.date(2022, 12, 29), end_date=None,
    )  # fmt: skip
    article = article_with("The Iranian defence minister said Iran would not get the bomb.")
    assert suggest(article, *span(article.text, "Iran would not get the bomb")).speaker is None


def test_a_title_whose_place_comes_first_is_found():
    biden = SpeakerFactory(name="Joe Biden", kind=Speaker.Kind.PERSON)
    SpeakerRoleFactory(
        speaker=biden, title="President of the United States", organisation="United States Government",
        start_date=datetime.date(2021, 1, 20), end_date=datetime.date(2025, 1, 20),
    )  # fmt: skip
    article = article_with("The U.S. president said the deal was dead.")
    suggestion = suggest(article, *span(article.text, "the deal was dead"))
    assert suggestion.speaker == biden
    assert mention(article, suggestion) == "U.S. president"


# --- Cues ----------------------------------------------------------------------------------


def test_states_in_united_states_is_no_cue():
    article = article_with("The United States wants a deal, officials in Washington believe.")
    suggestion = suggest(article, *span(article.text, "wants a deal"))
    assert suggestion.cue == ""


@pytest.mark.parametrize("verb", ["said", "told", "added", "warned", "insisted"])
def test_a_cue_verb_is_found_as_a_word(verb):
    article = article_with(f"The talks are over, the envoy {verb} reporters.")
    suggestion = suggest(article, *span(article.text, "The talks are over"))
    assert suggestion.cue == verb
    assert article.text[suggestion.cue_start : suggestion.cue_end] == verb


def test_a_cue_inside_a_longer_word_is_no_cue():
    article = article_with("The talks are over, the unsaid rule holds.")
    assert suggest(article, *span(article.text, "The talks are over")).cue == ""


def test_a_capitalised_cue_at_a_sentence_start_is_a_cue():
    article = article_with("Talks resumed. According to the envoy, they are over.")
    suggestion = suggest(article, *span(article.text, "they are over"))
    assert suggestion.cue == "According to"


# --- Quotation marks and apostrophes --------------------------------------------------------


def test_an_apostrophe_inside_a_word_is_no_quotation_mark():
    text = "Officials said North Korea's launch broke the accord."
    assert suggest_kind(text, *span(text, "North Korea's launch broke the accord")) == Quote.Kind.INDIRECT
    curly = "Officials said North Korea’s launch broke the accord."
    assert suggest_kind(curly, *span(curly, "North Korea’s launch broke the accord")) == Quote.Kind.INDIRECT


def test_straight_single_quotes_around_a_selection_make_it_direct():
    text = "He called the demand 'a pretext for delay'."
    assert suggest_kind(text, *span(text, "a pretext for delay")) == Quote.Kind.DIRECT


def test_straight_single_quotes_inside_a_selection_make_it_mixed():
    text = "He said the demand was 'a pretext for delay' and nothing more."
    assert suggest_kind(text, *span(text, "the demand was 'a pretext for delay' and nothing more")) == Quote.Kind.MIXED


def test_curly_quotes_still_make_a_direct_quote():
    text = "“We will not allow it,” Yoav Gallant said."
    assert suggest_kind(text, *span(text, "We will not allow it")) == Quote.Kind.DIRECT


# --- The New speaker form's aliases ---------------------------------------------------------


def test_the_new_speaker_form_saves_aliases(login, analyst):
    response = login(analyst).post(
        reverse("annotations:speaker-new"),
        {"name": "Antony J. Blinken", "kind": "person", "aliases": "Blinken; Tony Blinken\nSecretary Blinken;;"},
        **HX,
    )
    assert response.status_code == 200
    speaker = Speaker.objects.get(name="Antony J. Blinken")
    assert sorted(speaker.aliases.values_list("name", flat=True)) == ["Blinken", "Secretary Blinken", "Tony Blinken"]


def test_the_new_speaker_form_shows_the_aliases_field(login, analyst):
    body = login(analyst).get(reverse("annotations:speaker-new")).content.decode()
    assert 'name="aliases"' in body


def test_a_saved_alias_is_used_by_the_prefill(login, analyst):
    client = login(analyst)
    client.post(reverse("annotations:speaker-new"), {"name": "Mira Ostrova", "kind": "person", "aliases": "Ostrova"})
    article = article_with("Speaking in Velda, Ostrova said the talks had run out of patience.")
    AssignmentFactory(article=article, annotator=analyst)
    start, end = span(article.text, "the talks had run out of patience")
    form = client.get(reverse("annotations:quote-new", args=[article.pk]), {"start": start, "end": end}, **HX).context[
        "form"
    ]
    assert form.initial["speaker"] == Speaker.objects.get(name="Mira Ostrova").pk
    assert form.initial["mention_text"] == "Ostrova"


# --- The target ---------------------------------------------------------------------------


def test_the_target_whose_distinctive_words_the_quote_uses_is_suggested(analyst):
    from .factories import TargetFactory

    topic = TargetFactory(name="Iran nuclear issue", slug="iran")
    deal = TargetFactory(name="Return to the Iran nuclear deal", slug="deal", parent=topic)
    TargetFactory(name="Iran acquiring nuclear weapons", slug="weapons", parent=topic)
    article = article_with("Biden said the deal was dead. Iran denied it.")
    assert suggest_target(article, *span(article.text, "the deal was dead"), analyst) == deal


def test_no_target_is_suggested_without_a_clear_winner(analyst):
    from .factories import TargetFactory

    TargetFactory(name="Sanctions on Iran", slug="sanctions-iran")
    TargetFactory(name="Sanctions on Russia", slug="sanctions-russia")
    article = article_with("The minister said the sanctions would stay.")
    assert suggest_target(article, *span(article.text, "the sanctions would stay"), analyst) is None


def test_on_the_worked_example_the_suggested_targets_are_often_right_and_never_wrong(analyst, settings):
    """Annotating the demo article's quotes in order, as an analyst would: the
    suggestion is one of the quote's gold targets, or nothing (never a wrong one)."""
    import io
    import json

    from django.core.management import call_command

    from annotations.models import Article, Stance, StanceLabel, Target

    settings.DEBUG = True
    call_command("seed_demo", one_annotator=True, stdout=io.StringIO())
    article = Article.objects.get(metadata__source="worked-example.json")
    example = json.loads((settings.DEMO_DATA_DIR / "worked-example.json").read_text())
    label = StanceLabel.objects.first()
    right = 0
    for gold in example["quotes"]:
        targets = [stance["target"] for stance in gold["stances"]]
        suggested = suggest_target(article, gold["start"], gold["end"], analyst)
        assert suggested is None or suggested.slug in targets, (gold["text"], suggested)
        right += suggested is not None
        quote = Quote.objects.create(
            article=article, start=gold["start"], end=gold["end"], text=gold["text"], kind="direct", annotator=analyst
        )
        for slug in targets:
            Stance.objects.create(quote=quote, target=Target.objects.get(slug=slug), label=label)
    assert right >= 5


def test_the_new_quote_panel_fills_a_suggested_stance_row(login, analyst):
    from .factories import TargetFactory

    deal = TargetFactory(name="Return to the Iran nuclear deal", slug="deal")
    TargetFactory(name="Iran acquiring nuclear weapons", slug="weapons")
    article = article_with("Biden said the Iran nuclear deal was dead. Iran denied it.")
    AssignmentFactory(article=article, annotator=analyst)
    start, end = span(article.text, "the Iran nuclear deal was dead")
    panel = (
        login(analyst)
        .get(reverse("annotations:quote-new", args=[article.pk]), {"start": start, "end": end}, **HX)
        .content.decode()
    )
    assert "data-suggested" in panel
    assert f'<option value="{deal.pk}" selected>' in panel


def test_a_suggested_target_left_without_a_label_is_not_saved_even_without_the_script(login, analyst):
    from .factories import TargetFactory

    deal = TargetFactory(name="Return to the Iran nuclear deal", slug="deal")
    other = TargetFactory(name="Sanctions", slug="sanctions")
    article = article_with("Biden said the Iran nuclear deal was dead. Iran denied it.")
    AssignmentFactory(article=article, annotator=analyst)
    start, end = span(article.text, "the Iran nuclear deal was dead")
    url = reverse("annotations:quote-new", args=[article.pk])
    form = {
        "start": start,
        "end": end,
        "text": article.text[start:end],
        "kind": "indirect",
        "stances-TOTAL_FORMS": 1,
        "stances-INITIAL_FORMS": 0,
        "stances-0-suggested": deal.pk,
    }
    # The analyst chose another target for the row and gave no label: that row is theirs, and asks for one.
    refused = login(analyst).post(url, {**form, "stances-0-target": other.pk}, **HX)
    assert refused.status_code == 422
    assert "Choose a label for this stance." in refused.content.decode()
    # Still the suggested target, no label: the quote is saved, without that stance.
    saved = login(analyst).post(url, {**form, "stances-0-target": deal.pk}, **HX)
    assert saved.status_code == 200
    quote = Quote.objects.get(annotator=analyst)
    assert not quote.stances.exists()
