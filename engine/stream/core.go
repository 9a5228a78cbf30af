package stream

// coreStreams is the core platform/push-service document: the streams other ADSP services register
// at start-up (adsp-push-service.md §1.4, contract.md "Streams").
const coreStreams = `{
  "configuration-updates": {
    "id": "configuration-updates",
    "name": "Configuration updates",
    "description": "Provides configuration update events for cache invalidation.",
    "publicSubscribe": false,
    "subscriberRoles": [
      "urn:ads:platform:configuration-service:configuration-reader",
      "urn:ads:platform:configuration-service:configured-service",
      "urn:ads:platform:configuration-service:configuration-admin"
    ],
    "events": [
      {"namespace": "configuration-service", "name": "configuration-updated"},
      {"namespace": "configuration-service", "name": "revision-created"},
      {"namespace": "configuration-service", "name": "active-revision-set"}
    ]
  },
  "directory-entry-updates": {
    "id": "directory-entry-updates",
    "name": "Directory updates",
    "description": "Provides update events for directory service.",
    "publicSubscribe": false,
    "subscriberRoles": ["urn:ads:platform:tenant-service:platform-service"],
    "events": [
      {"namespace": "directory-service", "name": "entry-updated"},
      {"namespace": "directory-service", "name": "entry-deleted"}
    ]
  },
  "export-updates": {
    "id": "export-updates",
    "name": "Export updates",
    "description": "Provides update events for export.",
    "publicSubscribe": false,
    "subscriberRoles": ["urn:ads:platform:export-service:exporter"],
    "events": [
      {"namespace": "export-service", "name": "export-queued"},
      {"namespace": "export-service", "name": "export-completed"},
      {"namespace": "export-service", "name": "export-failed"}
    ]
  },
  "pdf-generation-updates": {
    "id": "pdf-generation-updates",
    "name": "PDF generation updates",
    "description": "Provides update events for PDF generation.",
    "publicSubscribe": false,
    "subscriberRoles": ["urn:ads:platform:pdf-service:pdf-generator"],
    "events": [
      {"namespace": "pdf-service", "name": "pdf-generation-queued"},
      {"namespace": "pdf-service", "name": "pdf-generated"},
      {"namespace": "pdf-service", "name": "pdf-generation-failed"}
    ]
  },
  "submitted-form-pdf-updates": {
    "id": "submitted-form-pdf-updates",
    "name": "Submitted form PDF generation updates",
    "description": "Provides update events for submitted form PDF generation.",
    "publicSubscribe": false,
    "subscriberRoles": [
      "urn:ads:platform:form-service:form-applicant",
      "urn:ads:platform:form-service:intake-application"
    ],
    "events": [
      {
        "namespace": "pdf-service", "name": "pdf-generation-queued",
        "criteria": {"context": {"templateId": "submitted-form"}},
        "map": {"timestamp": "timestamp", "jobId": "payload.jobId", "templateId": "payload.templateId"}
      },
      {
        "namespace": "pdf-service", "name": "pdf-generated",
        "criteria": {"context": {"templateId": "submitted-form"}},
        "map": {"timestamp": "timestamp", "jobId": "payload.jobId", "templateId": "payload.templateId", "file": "payload.file"}
      },
      {
        "namespace": "pdf-service", "name": "pdf-generation-failed",
        "criteria": {"context": {"templateId": "submitted-form"}},
        "map": {"timestamp": "timestamp", "jobId": "payload.jobId", "templateId": "payload.templateId"}
      }
    ]
  },
  "form-questions-updates": {
    "id": "form-questions-updates",
    "name": "Form questions topic updates",
    "description": "Provides update events on form questions topics.",
    "publicSubscribe": false,
    "subscriberRoles": [
      "urn:ads:platform:form-service:form-admin",
      "urn:ads:platform:form-service:form-applicant"
    ],
    "events": [
      {
        "namespace": "comment-service", "name": "comment-created",
        "criteria": {"context": {"topicTypeId": "form-questions"}},
        "map": {"timestamp": "timestamp", "topic": "payload.topic", "commentId": "payload.comment.id"}
      },
      {
        "namespace": "comment-service", "name": "comment-updated",
        "criteria": {"context": {"topicTypeId": "form-questions"}},
        "map": {"timestamp": "timestamp", "topic": "payload.topic", "commentId": "payload.comment.id"}
      },
      {
        "namespace": "comment-service", "name": "comment-deleted",
        "criteria": {"context": {"topicTypeId": "form-questions"}},
        "map": {"timestamp": "timestamp", "topic": "payload.topic", "commentId": "payload.comment.id"}
      }
    ]
  },
  "task-updates": {
    "id": "task-updates",
    "name": "Task Updates",
    "description": "Provides update events for Tasks.",
    "publicSubscribe": false,
    "subscriberRoles": [
      "urn:ads:platform:task-service:task-reader",
      "urn:ads:platform:task-service:task-admin"
    ],
    "events": [
      {"namespace": "task-service", "name": "task-created"},
      {"namespace": "task-service", "name": "task-updated"},
      {"namespace": "task-service", "name": "task-priority-set"},
      {"namespace": "task-service", "name": "task-assigned"},
      {"namespace": "task-service", "name": "task-started"},
      {"namespace": "task-service", "name": "task-data-updated"},
      {"namespace": "task-service", "name": "task-completed"},
      {"namespace": "task-service", "name": "task-cancelled"},
      {"namespace": "task-service", "name": "task-deleted"}
    ]
  }
}
`

// CoreStreams returns the core platform/push-service document seeded on first start: the seven
// streams ADSP services register (configuration-updates, directory-entry-updates, export-updates,
// pdf-generation-updates, submitted-form-pdf-updates, form-questions-updates, task-updates). The
// caller owns the returned slice.
func CoreStreams() []byte {
	return []byte(coreStreams)
}
