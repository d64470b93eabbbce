"""Forms: the validation every write path shares (pages, imports, admin, API)."""

from __future__ import annotations

from django import forms

from .models import Article
from .offsets import normalise_text

MAX_ARTICLE_CHARS = 500_000


class ArticleForm(forms.ModelForm):
    """An article as an analyst pastes it or an import line carries it."""

    class Meta:
        model = Article
        fields = ["title", "outlet", "url", "published_on", "language", "text"]
        widgets = {
            "published_on": forms.DateInput(attrs={"type": "date"}),
            "text": forms.Textarea(attrs={"rows": 20}),
        }

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise forms.ValidationError("Give the article a title.")
        return title

    def clean_text(self) -> str:
        text = normalise_text(self.cleaned_data["text"])
        if not text.strip():
            raise forms.ValidationError("The article text is empty.")
        if len(text) > MAX_ARTICLE_CHARS:
            raise forms.ValidationError(
                f"The article is {len(text):,} characters long; the limit is {MAX_ARTICLE_CHARS:,}."
            )
        duplicate = Article.objects.filter(text_sha256=Article.hash_text(text))
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError("An article with exactly this text already exists.", code="duplicate_text")
        return text
