"""What keyart serves to browsers: the dashboard bundle, placeholder artwork, the offline
GraphiQL page and its example query."""
