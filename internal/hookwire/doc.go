// Package hookwire is the wire form of lifecycle hooks shared by the
// transports that carry them (aws/lambdahook over Lambda Invoke,
// hooks/httphook over HTTPS): the ECS lifecycle-hook payload a hook
// receives, built from a bluegreen.HookInput, and the response it answers,
// parsed into a bluegreen.HookResult. The transports re-export the types, so
// users never import this package.
package hookwire
