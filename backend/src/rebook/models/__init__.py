"""ORM models, one file per table. Importing this package registers every table on `Base`."""

from rebook.models.audit_event import AuditActor, AuditEvent
from rebook.models.booking import Booking, BookingStatus
from rebook.models.booking_history import BookingHistory
from rebook.models.campaign import Campaign, CampaignStatus, CampaignType, campaign_places
from rebook.models.campaign_delivery import CampaignDelivery, Channel, DeliveryStatus
from rebook.models.campaign_delivery_count import CampaignDeliveryCount
from rebook.models.campaign_message import CampaignMessage
from rebook.models.campaign_recipient import CampaignRecipient
from rebook.models.campaign_recipient_count import CampaignRecipientCount
from rebook.models.email_bounce import EmailBounce
from rebook.models.email_suppression import EmailSuppression
from rebook.models.login_failure import LoginFailure
from rebook.models.marketing_audience import MarketingAudience, MarketingAudienceCount
from rebook.models.marketing_suppression import MarketingSuppression
from rebook.models.outbox_message import OutboxMessage
from rebook.models.place import Place
from rebook.models.saved_audience import SavedAudience
from rebook.models.send_hold import SendHold
from rebook.models.service import Service
from rebook.models.user import User, UserRole
from rebook.models.whatsapp_service_window import WhatsAppServiceWindow
from rebook.models.whatsapp_template import WhatsAppTemplate

__all__ = [
    "AuditActor",
    "AuditEvent",
    "Booking",
    "BookingHistory",
    "BookingStatus",
    "Campaign",
    "CampaignDelivery",
    "CampaignDeliveryCount",
    "CampaignMessage",
    "CampaignRecipient",
    "CampaignRecipientCount",
    "CampaignStatus",
    "CampaignType",
    "Channel",
    "DeliveryStatus",
    "EmailBounce",
    "EmailSuppression",
    "LoginFailure",
    "MarketingAudience",
    "MarketingAudienceCount",
    "MarketingSuppression",
    "OutboxMessage",
    "Place",
    "SavedAudience",
    "SendHold",
    "Service",
    "User",
    "UserRole",
    "WhatsAppServiceWindow",
    "WhatsAppTemplate",
    "campaign_places",
]
