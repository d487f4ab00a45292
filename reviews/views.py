from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from reviews.roles import user_desk_roles, user_may_use_desk


@require_GET
@login_required
def desk_home(request):
    if not user_may_use_desk(request.user):
        raise PermissionDenied("The desk is for support agents and reviewers.")
    return render(request, "reviews/desk_home.html", {"roles": user_desk_roles(request.user)})
