"""API for people: tokens, who am I, and my organizations."""

from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from marketplace.accounts import selectors
from marketplace.accounts.policies import organization_for, organizations_for
from marketplace.errors import ServiceError


class TokenInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class AuthTokenCreateApi(APIView):
    """Exchange an email and password for an API token (`Authorization: Token <token>`).

    Only verified addresses get a token; people who protect their account with MFA (and staff or
    vendor owners, who must) use their session and the web pages instead.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer}, auth=[])
    def post(self, request):
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"].lower()
        user = authenticate(request, email=email, password=data.validated_data["password"])
        if user is None:
            raise ServiceError("Email or password is wrong.", code="invalid_credentials")
        if not EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists():
            raise ServiceError(
                "Confirm your email address first: follow the link we sent you.",
                code="email_unverified",
                status_code=403,
            )
        if selectors.user_has_mfa(user) or selectors.user_requires_mfa(user):
            raise ServiceError(
                "Accounts with two-factor authentication cannot get a password-only token.",
                code="mfa_required",
                status_code=403,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response(TokenOutputSerializer({"token": token.key}).data)


class MembershipOutputSerializer(serializers.Serializer):
    organization = serializers.SlugField(source="organization.slug")
    organization_name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(source="display_name")
    memberships = MembershipOutputSerializer(many=True)


class MeApi(APIView):
    """The signed-in person and the organizations they belong to."""

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request):
        user = request.user
        me = {
            "id": user.pk,
            "email": user.email,
            "display_name": user.display_name,
            "memberships": selectors.memberships_of(user),
        }
        return Response(MeOutputSerializer(me).data)


class OrganizationOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    is_buyer = serializers.BooleanField()
    is_vendor = serializers.BooleanField()
    time_zone = serializers.CharField()
    website = serializers.URLField()


class OrganizationListApi(APIView):
    """The organizations the caller is a member of."""

    @extend_schema(responses=OrganizationOutputSerializer(many=True))
    def get(self, request):
        organizations = organizations_for(request.user).order_by("name")
        return Response(OrganizationOutputSerializer(organizations, many=True).data)


class OrganizationDetailApi(APIView):
    """One of the caller's organizations; 404 for any other."""

    @extend_schema(responses=OrganizationOutputSerializer)
    def get(self, request, slug: str):
        return Response(OrganizationOutputSerializer(organization_for(request.user, slug)).data)


class MemberOutputSerializer(serializers.Serializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.display_name")
    role = serializers.CharField()
    joined_at = serializers.DateTimeField(source="created_at")


class OrganizationMemberListApi(APIView):
    """The members of one of the caller's organizations."""

    @extend_schema(responses=MemberOutputSerializer(many=True))
    def get(self, request, slug: str):
        organization = organization_for(request.user, slug)
        members = selectors.members_of(organization)
        return Response(MemberOutputSerializer(members, many=True).data)
