"""Model prices, edited through the write layer so every change is audited."""

from django.contrib import admin

from .. import conversations
from ..models import (
    ModelPrice,
)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model_name",
        "effective_from",
        "input_per_million",
        "cached_input_per_million",
        "output_per_million",
    )
    search_fields = ("model_name",)
    ordering = ("model_name", "-effective_from")

    def save_model(self, request, obj, form, change) -> None:
        conversations.save_price(price=obj, actor=request.user)

    def delete_model(self, request, obj) -> None:
        conversations.delete_price(price=obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for price in queryset:
            conversations.delete_price(price=price, actor=request.user)
