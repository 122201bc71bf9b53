from course.cli import console

console()
