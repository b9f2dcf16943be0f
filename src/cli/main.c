/* placeholder: replaced by the CLI */
#include "imgpipe.h"
#include <stdio.h>
int main(void)
{
    printf("imgpipe %s\n", IMGPIPE_VERSION);
    return 0;
}
