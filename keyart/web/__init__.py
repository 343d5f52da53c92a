"""What keyart serves to browsers: the offline GraphiQL page and its example query."""
