from django.urls import path

from .views import dataset, guidelines, research, review, speakers, suggestions, taxonomy, tokens, workspace

app_name = "annotations"

urlpatterns = [
    path("health/", workspace.health, name="health"),
    # --- The workspace: queue, articles, annotate page, quote fragments.
    path("", workspace.home, name="home"),
    path("next/", workspace.next_article, name="next-article"),
    path("articles/new/", workspace.article_new, name="article-new"),
    path("articles/upload/", workspace.article_upload, name="article-upload"),
    path("articles/<int:pk>/annotate/", workspace.article_annotate, name="article-annotate"),
    path("articles/<int:pk>/quotes/new/", workspace.quote_new, name="quote-new"),
    path("articles/<int:pk>/submit/", workspace.article_submit, name="article-submit"),
    path("articles/<int:pk>/detect/", suggestions.article_detect, name="article-detect"),
    path(
        "articles/<int:pk>/suggestions/accept-all/", suggestions.suggestions_accept_all, name="suggestions-accept-all"
    ),
    path("suggestions/<int:pk>/", suggestions.suggestion_detail, name="suggestion-detail"),
    path("suggestions/<int:pk>/accept/", suggestions.suggestion_accept, name="suggestion-accept"),
    path("suggestions/<int:pk>/reject/", suggestions.suggestion_reject, name="suggestion-reject"),
    path("suggestions/<int:pk>/correct/", suggestions.suggestion_correct, name="suggestion-correct"),
    path("quotes/<int:pk>/", workspace.quote_edit, name="quote-edit"),
    path("quotes/<int:pk>/delete/", workspace.quote_delete, name="quote-delete"),
    path("quotes/<int:pk>/undo/", workspace.quote_undo, name="quote-undo"),
    path("speakers/search/", workspace.speaker_search, name="speaker-search"),
    path("speakers/new/", workspace.speaker_new, name="speaker-new"),
    # --- The speakers: index, a page each, reviewers' corrections and merges.
    # After search/ and new/, and only ints for <pk>: the two never read as a speaker.
    path("speakers/", speakers.speaker_index, name="speaker-index"),
    path("speakers/<int:pk>/", speakers.speaker_detail, name="speaker-detail"),
    path("speakers/<int:pk>/edit/", speakers.speaker_edit, name="speaker-edit"),
    path("speakers/<int:pk>/aliases/", speakers.speaker_alias_add, name="speaker-alias-add"),
    path("speakers/<int:pk>/roles/", speakers.speaker_role_add, name="speaker-role-add"),
    path("speakers/<int:pk>/merge/", speakers.speaker_merge, name="speaker-merge"),
    path("targets/search/", workspace.target_search, name="target-search"),
    path("targets/new/", workspace.target_new, name="target-new"),
    path("targets/propose/", taxonomy.target_propose, name="target-propose"),
    # After search/, new/ and propose/, whose slugs Target.clean reserves.
    path("targets/<slug:slug>/", research.target_detail, name="target-detail"),
    path("labels.css", workspace.label_styles, name="label-styles"),
    # --- The annotation guidelines, versioned.
    path("guidelines/", guidelines.guidelines, name="guidelines"),
    path("guidelines/edit/", guidelines.guidelines_edit, name="guidelines-edit"),
    path("guidelines/v<int:number>/", guidelines.guidelines_version, name="guidelines-version"),
    # --- The researcher's landing page.
    path("dataset/", dataset.dataset, name="dataset"),
    # --- Stance statistics over the curated dataset.
    path("compare/", research.compare, name="compare"),
    # --- Review, curation and agreement.
    path("review/", review.review_queue, name="review-queue"),
    path("review/assign/", review.review_assign, name="review-assign"),
    path("review/agreement/", review.agreement_report, name="review-agreement"),
    path("review/targets/", taxonomy.target_proposals, name="target-proposals"),
    path("review/targets/<int:pk>/accept/", taxonomy.target_proposal_accept, name="target-proposal-accept"),
    path("review/targets/<int:pk>/merge/", taxonomy.target_proposal_merge, name="target-proposal-merge"),
    path("review/detector/", suggestions.detector_precision, name="review-detector"),
    path("review/articles/<int:pk>/", review.review_article, name="review-article"),
    path("review/articles/<int:pk>/accept/", review.review_accept, name="review-accept"),
    path("review/articles/<int:pk>/accept-agreed/", review.review_accept_agreed, name="review-accept-agreed"),
    path("review/articles/<int:pk>/add/", review.review_add_quote, name="review-add-quote"),
    path("review/articles/<int:pk>/send-back/", review.review_send_back, name="review-send-back"),
    path("review/articles/<int:pk>/mark-curated/", review.review_mark_curated, name="review-mark-curated"),
    path("review/curated/<int:pk>/edit/", review.review_edit_quote, name="review-edit-quote"),
    path("review/curated/<int:pk>/drop/", review.review_drop_quote, name="review-drop-quote"),
    path("review/curated/<int:pk>/undo/", review.review_undo_quote, name="review-undo-quote"),
    path("review/quotes/<int:pk>/history/", review.quote_history, name="quote-history"),
    path("quotes/<int:pk>/comments/", review.quote_comments, name="quote-comments"),
    # --- API tokens.
    path("tokens/", tokens.token_list, name="token-list"),
    path("tokens/<str:digest>/revoke/", tokens.token_revoke, name="token-revoke"),
]
