// UnindexedFieldURIType from the EWS schema (types.xsd): every FieldURI value a request may name. The simulator
// refuses others with ErrorSchemaValidation, as Exchange does, so a client's typo shows up in tests. Pure data.

const BY_PREFIX: Record<string, string> = {
  folder:
    'FolderId ParentFolderId DisplayName UnreadCount TotalCount ChildFolderCount FolderClass ' +
    'SearchParameters ManagedFolderInformation PermissionSet EffectiveRights SharingEffectiveRights ' +
    'DistinguishedFolderId PolicyTag ArchiveTag ReplicaList',
  item:
    'ItemId ParentFolderId ItemClass MimeContent Attachments Subject DateTimeReceived Size Categories ' +
    'HasAttachments Importance InReplyTo InternetMessageHeaders IsAssociated IsDraft IsFromMe IsResend ' +
    'IsSubmitted IsUnmodified DateTimeSent DateTimeCreated Body ResponseObjects Sensitivity ReminderDueBy ' +
    'ReminderIsSet ReminderNextTime ReminderMinutesBeforeStart DisplayTo DisplayCc DisplayBcc Culture ' +
    'EffectiveRights LastModifiedName LastModifiedTime ConversationId UniqueBody Flag StoreEntryId ' +
    'InstanceKey NormalizedBody EntityExtractionResult PolicyTag ArchiveTag RetentionDate Preview ' +
    'PredictedActionReasons IsClutter RightsManagementLicenseData BlockStatus HasBlockedImages ' +
    'WebClientReadFormQueryString WebClientEditFormQueryString TextBody IconIndex MimeContentUTF8 ' +
    'Mentions MentionedMe MentionsPreview MentionsEx Hashtags AppliedHashtags AppliedHashtagsPreview ' +
    'Likes LikesPreview PendingSocialActivityTagIds AtAllMention CanDelete InferenceClassification ' +
    'FirstBody',
  message:
    'ConversationIndex ConversationTopic InternetMessageId IsRead IsResponseRequested ' +
    'IsReadReceiptRequested IsDeliveryReceiptRequested ReceivedBy ReceivedRepresenting References ReplyTo ' +
    'From Sender ToRecipients CcRecipients BccRecipients ApprovalRequestData VotingInformation ' +
    'ReminderMessageData',
  meeting:
    'AssociatedCalendarItemId IsDelegated IsOutOfDate HasBeenProcessed ResponseType ProposedStart ' +
    'ProposedEnd',
  meetingRequest:
    'MeetingRequestType IntendedFreeBusyStatus ChangeHighlights',
  calendar:
    'Start End OriginalStart StartWallClock EndWallClock StartTimeZoneId EndTimeZoneId IsAllDayEvent ' +
    'LegacyFreeBusyStatus Location EnhancedLocation When IsMeeting IsCancelled IsRecurring ' +
    'MeetingRequestWasSent IsResponseRequested CalendarItemType MyResponseType Organizer ' +
    'RequiredAttendees OptionalAttendees Resources ConflictingMeetingCount AdjacentMeetingCount ' +
    'ConflictingMeetings AdjacentMeetings InboxReminders Duration TimeZone AppointmentReplyTime ' +
    'AppointmentSequenceNumber AppointmentState Recurrence FirstOccurrence LastOccurrence ' +
    'ModifiedOccurrences DeletedOccurrences MeetingTimeZone ConferenceType AllowNewTimeProposal ' +
    'IsOnlineMeeting MeetingWorkspaceUrl NetShowUrl UID RecurrenceId DateTimeStamp StartTimeZone ' +
    'EndTimeZone JoinOnlineMeetingUrl OnlineMeetingSettings IsOrganizer CalendarActivityData',
  task:
    'ActualWork AssignedTime BillingInformation ChangeCount Companies CompleteDate Contacts ' +
    'DelegationState Delegator DueDate IsAssignmentEditable IsComplete IsRecurring IsTeamTask Mileage ' +
    'Owner PercentComplete Recurrence StartDate Status StatusDescription TotalWork',
  contacts:
    'Alias AssistantName Birthday BusinessHomePage Children Companies CompanyName CompleteName ' +
    'ContactSource Culture Department DisplayName DirectoryId DirectReports EmailAddresses ' +
    'AbchEmailAddresses FileAs FileAsMapping Generation GivenName ImAddresses Initials JobTitle Manager ' +
    'ManagerMailbox MiddleName Mileage MSExchangeCertificate Nickname Notes OfficeLocation PhoneNumbers ' +
    'PhoneticFullName PhoneticFirstName PhoneticLastName Photo PhysicalAddresses PostalAddressIndex ' +
    'Profession SpouseName Surname WeddingAnniversary UserSMIMECertificate HasPicture AccountName ' +
    'IsAutoUpdateDisabled IsMessengerEnabled Comment ContactShortId ContactType CreatedBy Gender IsHidden ' +
    'ObjectId PassportId IsPrivate SourceId TrustLevel Urls Cid SkypeAuthCertificate SkypeContext SkypeId ' +
    'XboxLiveTag SkypeRelationship YomiNickname InviteFree HidePresenceAndProfile IsPendingOutbound ' +
    'SupportGroupFeeds UserTileHash UnifiedInbox Mris Wlid AbchContactId NotInBirthdayCalendar ' +
    'ShellContactType ImMri PresenceTrustLevel OtherMri ProfileLastChanged MobileIMEnabled ' +
    'PartnerNetworkProfilePhotoUrl PartnerNetworkThumbnailPhotoUrl PersonId ConversationGuid',
  distributionlist:
    'Members',
  postitem:
    'PostedTime',
  person:
    'FullName GivenName Surname PhoneNumber SMSNumber EmailAddress Alias Department LinkedInProfileLink ' +
    'Skills ProfessionalBiography ManagementChain DirectReports Peers TeamSize CurrentJob Birthday ' +
    'Hometown CurrentLocation CompanyProfile Office Headline MutualConnections Title MutualManager ' +
    'Insights UserProfilePicture',
  rolemember:
    'MemberType MemberId DisplayName',
  network:
    'TokenRefreshLastCompleted TokenRefreshLastAttempted SyncEnabled RejectedOffers SessionHandle ' +
    'RefreshTokenExpiry2 RefreshToken2 PsaLastChanged Offers LastWelcomeContact LastVersionSaved ' +
    'DomainTag FirstAuthErrorDates ErrorOffers ContactSyncSuccess ContactSyncError ClientToken2 ' +
    'ClientToken ClientPublishSecret UserEmail AutoLinkSuccess AutoLinkError IsDefault Settings ' +
    'ProfileUrl UserTileUrl DomainId DisplayName AccountName SourceEntryID',
  abchperson:
    'FavoriteOrder PersonId ExchangePersonIdGuid AntiLinkInfo RelevanceOrder1 RelevanceOrder2 ' +
    'ContactHandles Categories',
  booking:
    'ServiceIds StaffIds StaffInitials CustomerName CustomerEmail CustomerPhone CustomerId',
  insight:
    'InsightId Type StartTimeUtc EndTimeUtc Status Version ApplicationsIds Text SuggestedActions ' +
    'AppContexts',
};

export const FIELD_URIS: ReadonlySet<string> = new Set(
  Object.entries(BY_PREFIX).flatMap(([prefix, names]) => names.split(' ').map((name) => `${prefix}:${name}`)),
);
