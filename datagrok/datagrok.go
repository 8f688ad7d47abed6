// Package datagrok holds Datagrok's catalogue of audit record types
// (Event.Type values), for services that mirror Datagrok's events so that
// Datagrok-shaped queries and the read side find them under the same names.
//
// The types the Logger emits by itself are also in package audit as
// [github.com/auditkit/audit.TypeLog] and its siblings; these constants have the same values.
package datagrok

// Record types (Event.Type): Datagrok's documented default set of audit record types, and
// the other types seen in its data. Custom types are plain strings.
const (
	Log   = "log"
	Usage = "usage"
	Error = "error"

	QueryCreated               = "query-created"
	QueryEdited                = "query-edited"
	QueryDeleted               = "query-deleted"
	QueryStart                 = "query-start"
	QueryPublished             = "query-published"
	QueryTransformationsEdited = "query-transformations-edited"
	ConnectionCreated          = "connection-created"
	ConnectionEdited           = "connection-edited"
	ConnectionDeleted          = "connection-deleted"
	ConnectionPublished        = "connection-published"
	JobCreated                 = "job-created"
	JobEdited                  = "job-edited"
	JobDeleted                 = "job-deleted"
	JobTransformationsEdited   = "job-transformations-edited"
	JobStart                   = "job-start"
	ScriptCreated              = "script-created"
	ScriptEdited               = "script-edited"
	ScriptDeleted              = "script-deleted"
	ScriptStart                = "script-start"
	ScriptPublished            = "script-published"
	PredictiveModelCreated     = "predictive-model-created"
	PredictiveModelEdited      = "predictive-model-edited"
	PredictiveModelDeleted     = "predictive-model-deleted"
	PredictiveModelStart       = "predictive-model-start"
	PredictiveModelPublished   = "predictive-model-published"
	ActionStart                = "action-start"
	NotebookCreated            = "notebook-created"
	NotebookEdited             = "notebook-edited"
	NotebookDeleted            = "notebook-deleted"
	NotebookStart              = "notebook-start"
	NotebookPublished          = "notebook-published"
	ProjectCreated             = "project-created"
	ProjectEdited              = "project-edited"
	ProjectDeleted             = "project-deleted"
	ProjectOpened              = "project-opened"
	EntityShared               = "entity-shared"
	EntitySharedSilent         = "entity-shared-silent"
	TableProduced              = "table-produced"
	UserInvited                = "user-invited"
	CommentPosted              = "comment-posted"
	DialogOK                   = "dialog-ok"
	MainMenuItemClick          = "main-menu-item-click"
	TutorialCompleted          = "tutorial-completed"
	ViewerRendered             = "viewer-rendered"
	PackageTested              = "package-tested"
	HTTPRequest                = "http-request"
	Click                      = "click"
	DatagrokStarted            = "datagrok-started"
	UserLoggedIn               = "user-logged-in"
	UserLoginFailed            = "user-login-failed"
	SettingsChanged            = "settings-changed"
	LogSettingsChanged         = "log-settings-changed"
	FunctionCall               = "function-call"
)

// RecordTypes returns Datagrok's documented default set of audit record types.
func RecordTypes() []string {
	return []string{
		QueryCreated, QueryEdited, QueryDeleted, QueryStart, QueryPublished,
		QueryTransformationsEdited, ConnectionCreated, ConnectionEdited,
		ConnectionDeleted, ConnectionPublished, JobCreated, JobEdited,
		JobDeleted, JobTransformationsEdited, JobStart, ScriptCreated,
		ScriptEdited, ScriptDeleted, ScriptStart, ScriptPublished,
		PredictiveModelCreated, PredictiveModelEdited, PredictiveModelDeleted,
		PredictiveModelStart, PredictiveModelPublished, ActionStart,
		NotebookCreated, NotebookEdited, NotebookDeleted, NotebookStart,
		NotebookPublished, ProjectCreated, ProjectEdited, ProjectDeleted,
		ProjectOpened, EntityShared, EntitySharedSilent, TableProduced,
		UserInvited, CommentPosted, DialogOK, MainMenuItemClick, Error,
		TutorialCompleted, ViewerRendered, Log, PackageTested,
	}
}
