// Package client is the Go SDK for labelhub's REST API (docs/api.md). The
// labelhub command line uses it for every command that talks to a hub.
//
// It imports only the standard library and the root package, so a program
// that embeds it pulls in neither the store nor the server:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("LABELHUB_API_KEY"))
//	p, err := c.CreateProject(ctx, labelhub.ProjectInput{Name: &name})
//	if labelhub.ErrorCode(err) == labelhub.ECodeInvalid { … }
//
// Every error the hub answers is an *labelhub.Error, with the API's code,
// message and field details, so callers branch with labelhub.ErrorCode.
// Failures to reach the hub are the transport's errors (and the context's,
// when it is cancelled). Answers are decoded leniently: fields this version
// does not know are ignored, so an older client works with a newer hub.
//
// Lists are keyset-paginated; All walks every page of one:
//
//	for p, err := range client.All(ctx, c.ListProjects) { … }
package client
